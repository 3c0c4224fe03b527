// The chat screen (chat.html).
import { requireSignIn } from "./core.js";

requireSignIn();
