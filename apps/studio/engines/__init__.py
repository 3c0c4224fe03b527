"""The studio's engines: speech, podcast scripts, slide decks, prose. Each works offline."""
