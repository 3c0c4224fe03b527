// The one way model and document text becomes markup: marked parses the markdown, DOMPurify
// (with the strict allow-list below) sanitises what it produced, and the result is a
// DocumentFragment, never a string handed to innerHTML. Raw HTML inside the markdown is shown
// as text; links may only go to http(s), mailto or this site; no images, no styles, no
// attributes beyond the list. Code blocks get highlight.js colours and a copy button; tables
// scroll inside a wrapper; `[n]` markers become citation chips when the answer has sources.
import DOMPurify from "../vendor/dompurify-3.4.18/purify.es.mjs";
import { Marked } from "../vendor/marked-18.2.1/marked.esm.js";
import hljs from "../vendor/highlight.js-11.11.1/core.min.js";
import bash from "../vendor/highlight.js-11.11.1/languages/bash.min.js";
import css from "../vendor/highlight.js-11.11.1/languages/css.min.js";
import diff from "../vendor/highlight.js-11.11.1/languages/diff.min.js";
import javascript from "../vendor/highlight.js-11.11.1/languages/javascript.min.js";
import json from "../vendor/highlight.js-11.11.1/languages/json.min.js";
import python from "../vendor/highlight.js-11.11.1/languages/python.min.js";
import shell from "../vendor/highlight.js-11.11.1/languages/shell.min.js";
import sql from "../vendor/highlight.js-11.11.1/languages/sql.min.js";
import typescript from "../vendor/highlight.js-11.11.1/languages/typescript.min.js";
import xml from "../vendor/highlight.js-11.11.1/languages/xml.min.js";
import yaml from "../vendor/highlight.js-11.11.1/languages/yaml.min.js";
import { el, toast } from "./core.js";

for (const [name, grammar] of Object.entries({ bash, css, diff, javascript, json, python, shell, sql, typescript, xml, yaml })) {
  hljs.registerLanguage(name, grammar);
}
hljs.registerAliases(["html", "svg"], { languageName: "xml" });
hljs.registerAliases(["sh", "zsh"], { languageName: "bash" });

const ALLOWED_TAGS = [
  "a", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "input",
  "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
  "tr", "ul",
];
const ALLOWED_ATTR = ["href", "title", "class", "align", "start", "type", "checked", "disabled"];
// http(s), mailto, and links within this site (a path, a fragment); javascript:, data:, vbscript:
// and every other scheme are dropped.
const ALLOWED_URI = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
const SAFE_CLASS = /^(?:hljs(?:-[\w-]+)?|language-[\w+#.-]+|[\w-]+_)$/;

const purifier = DOMPurify(window);
purifier.addHook("uponSanitizeAttribute", (node, data) => {
  if (data.attrName === "class") {
    data.attrValue = data.attrValue.split(/\s+/).filter((name) => SAFE_CLASS.test(name)).join(" ");
    if (!data.attrValue) data.keepAttr = false;
  }
  // Only GFM's task-list checkboxes: an input of any other kind is removed with its attributes.
  if (node.nodeName === "INPUT" && data.attrName === "type" && data.attrValue !== "checkbox") data.keepAttr = false;
});
purifier.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A" && node.hasAttribute("href")) {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
  if (node.nodeName === "INPUT") {
    if (node.getAttribute("type") !== "checkbox") node.remove();
    else node.setAttribute("disabled", "");
  }
});

const CONFIG = {
  ALLOWED_TAGS, ALLOWED_ATTR, ALLOWED_URI_REGEXP: ALLOWED_URI, ADD_ATTR: ["target", "rel"],
  ALLOW_DATA_ATTR: false, ALLOW_ARIA_ATTR: false, RETURN_DOM_FRAGMENT: true, FORBID_TAGS: ["style", "form", "img", "svg", "math"],
};

/** Sanitises an HTML string into a DocumentFragment with the strict allow-list. */
export function sanitize(html) {
  return purifier.sanitize(String(html ?? ""), CONFIG);
}

const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Markup written into the markdown is shown, not interpreted.
    html({ text }) { return escapeHtml(text); },
    // No remote images (CSP forbids them anyway): a link to the image instead.
    image({ href, text }) { return `<a href="${escapeHtml(href || "")}">${escapeHtml(text || href || "image")}</a>`; },
    code({ text, lang }) {
      const language = (lang || "").trim().split(/\s+/)[0].toLowerCase();
      const name = /^[\w+#.-]{1,32}$/.test(language) ? language : "";
      return `<pre><code${name ? ` class="language-${escapeHtml(name)}"` : ""}>${escapeHtml(text)}</code></pre>`;
    },
  },
});

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard API (an insecure origin): the textarea fallback.
    const area = el("textarea", { attrs: { readonly: true, "aria-hidden": "true" }, class: "visually-hidden", value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}

/** A button that copies `getText()` and says so. */
export function copyButton(getText, label = "Copy") {
  const button = el("button", {
    class: "btn btn-ghost btn-sm copy", attrs: { type: "button", "aria-label": label }, text: "Copy",
    on: {
      click: async () => {
        await copyText(getText());
        button.textContent = "Copied";
        toast("Copied to the clipboard.", "ok");
        setTimeout(() => { button.textContent = "Copy"; }, 1500);
      },
    },
  });
  return button;
}

function enhanceCode(fragment) {
  for (const code of fragment.querySelectorAll("pre > code")) {
    const pre = code.parentElement;
    const text = code.textContent;
    const language = ([...code.classList].find((name) => name.startsWith("language-")) || "").slice(9);
    if (language && hljs.getLanguage(language)) {
      // highlight.js escapes the text it wraps in spans; its output still goes through the sanitiser.
      const highlighted = sanitize(hljs.highlight(text, { language, ignoreIllegals: true }).value);
      code.replaceChildren(highlighted);
      code.classList.add("hljs");
    }
    const block = el("div", { class: "code-block" },
      el("div", { class: "code-head" }, el("span", { class: "lang", text: language || "text" }), copyButton(() => text, `Copy ${language || "code"}`)));
    pre.replaceWith(block);
    block.append(pre);
  }
}

function wrapTables(fragment) {
  for (const table of fragment.querySelectorAll("table")) {
    const wrap = el("div", { class: "table-wrap", attrs: { tabindex: "0", role: "region", "aria-label": "Table" } });
    table.replaceWith(wrap);
    wrap.append(table);
  }
}

const MARKER = /\[(\d{1,3})\]/g;
const HAS_MARKER = /\[\d{1,3}\]/;

// `[n]` in the prose (not in code or links) becomes a chip for the n-th source, when it exists.
function citationChips(fragment, citations) {
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement && node.parentElement.closest("code, pre, a") ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const nodes = [];
  while (walker.nextNode()) if (HAS_MARKER.test(walker.currentNode.data)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const parts = [];
    let last = 0;
    for (const match of node.data.matchAll(MARKER)) {
      const number = Number(match[1]);
      if (number < 1 || number > citations.length) continue;
      parts.push(node.data.slice(last, match.index));
      parts.push(citationChip(number, citations[number - 1]));
      last = match.index + match[0].length;
    }
    if (!parts.length) continue;
    parts.push(node.data.slice(last));
    node.replaceWith(...parts.filter((part) => part !== ""));
  }
}

/** The numbered chip of one source; the chat screen opens the source when it is clicked. */
export function citationChip(number, citation) {
  const name = citation?.filename || citation?.title || citation?.source || "source";
  return el("button", {
    class: "chip citation", text: String(number),
    attrs: { type: "button", "aria-label": `Source ${number}: ${name}`, title: name },
    dataset: { citation: number - 1 },
  });
}

function finish(fragment, citations) {
  enhanceCode(fragment);
  wrapTables(fragment);
  if (citations && citations.length) citationChips(fragment, citations);
  return fragment;
}

/** Markdown to a sanitised DocumentFragment (see the top of this file). */
export function renderMarkdown(text, { citations = [] } = {}) {
  return finish(sanitize(marked.parse(String(text ?? ""))), citations);
}

const rendered = new WeakMap();  // container → [{raw, nodes}] of its top-level blocks, with the text they came from
const TAIL = 3;  // in tail mode, the blocks re-lexed: the last ones (a space token between two blocks is one)

/** Renders `text` into `container`, re-rendering only the blocks that changed since the last
 * call: a streaming answer grows at its end, so each update rebuilds only its last block or two.
 * With `tail` (a streaming answer: the text only grows), the blocks before the last few are
 * taken as final and only the text after them is lexed, so a frame's work does not grow with the
 * answer; a call without it (the answer's end) lexes the whole text and fixes anything that
 * differs. Same sanitiser and output as renderMarkdown. */
export function updateMarkdown(container, text, { citations = [], tail = false } = {}) {
  const source = String(text ?? "");
  const key = citations ? citations.length : 0;
  let blocks = rendered.get(container);
  if (!blocks || blocks.key !== key || (blocks.length && !container.contains(blocks[0].nodes[0] || container))) {
    container.replaceChildren();
    blocks = Object.assign([], { key, text: "", exact: false });
    rendered.set(container, blocks);
  }
  // The kept blocks' raw text must be exactly the start of the new text (the lexer did not
  // normalise line ends, and the text only grew).
  const from = tail && blocks.exact && blocks.length > TAIL && source.startsWith(blocks.text) ? blocks.length - TAIL : 0;
  let offset = 0;
  for (let index = 0; index < from; index += 1) offset += blocks[index].raw.length;
  const tokens = marked.lexer(source.slice(offset));
  let same = 0;
  while (same < tokens.length && from + same < blocks.length && blocks[from + same].raw === tokens[same].raw) same += 1;
  for (const block of blocks.splice(from + same)) for (const node of block.nodes) node.remove();
  for (const token of tokens.slice(same)) {
    const list = Object.assign([token], { links: tokens.links });
    const fragment = finish(sanitize(marked.parser(list)), citations);
    const nodes = [...fragment.childNodes];
    container.append(fragment);
    blocks.push({ raw: token.raw, nodes });
  }
  blocks.text = source;
  blocks.exact = offset + tokens.reduce((length, token) => length + token.raw.length, 0) === source.length;
}
