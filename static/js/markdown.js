// Replies' markdown in the page: rendered as it streams, by the server's rules (chat/domain/markdown.py):
// markdown-it with the same options (CommonMark, tables, strikethrough, no raw HTML, line breaks), then
// DOMPurify with the same allow-list (tags, attributes by tag, http/https/mailto links, rel on links).
// A saved reply's HTML, rendered by the server, goes through the same sanitiser before it is shown.
// Code blocks get a header with their language and a Copy button; highlight.js colours them once closed.
//
// The token path stays cheap: a token is appended as text at once, and the reply's markdown is rendered at
// most once per animation frame (before the frame is painted, so the raw text is never seen). Only the
// top-level blocks that changed are rebuilt; a closed code block is highlighted once.
import "../vendor/markdown-it/markdown-it.min.js"; // a UMD build: it defines globalThis.markdownit
import DOMPurify from "../vendor/dompurify/purify.es.mjs";
import hljs from "../vendor/highlight.js/highlight.min.js";
import { copyButton } from "./clipboard.js";
import { el } from "./page.js";

const md = globalThis.markdownit("commonmark", { html: false, linkify: false, breaks: true })
  .enable(["table", "strikethrough"]);

// ---- the server's allow-list ------------------------------------------------------------------------

const TAGS = [
  "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote", "ul", "ol", "li", "a",
  "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span",
];
// The server lets a table cell keep markdown-it's style="text-align:…". The page's CSP refuses style
// attributes (parsing one is already a violation), so that alignment is turned into data-align first.
const ALIGNED = /<(th|td) style="text-align:(left|right|center)">/g;
const ATTRIBUTES = { a: ["href", "title"], code: ["class"], th: ["data-align"], td: ["data-align"], ol: ["start"] };
// http, https and mailto; a URL without a scheme (relative) passes, as it does on the server.
const URLS = /^(?:(?:https?|mailto):|[^a-z]|[a-z+.-]+(?:[^a-z+.\-:]|$))/i;
const SANITIZE = {
  ALLOWED_TAGS: TAGS,
  ALLOWED_ATTR: ["href", "title", "class", "start"], // data-align passes as a data attribute
  ALLOWED_URI_REGEXP: URLS,
  RETURN_DOM_FRAGMENT: true,
};

const purify = DOMPurify(window); // an instance of its own, so these hooks apply to replies only
purify.addHook("uponSanitizeAttribute", (node, data) => {
  const allowed = ATTRIBUTES[node.nodeName.toLowerCase()]?.includes(data.attrName);
  if (!allowed || (data.attrName === "data-align" && !/^(left|right|center)$/.test(data.attrValue))) {
    data.keepAttr = false;
  }
});
purify.addHook("afterSanitizeAttributes", (node) => {
  if (node.nodeName === "A") node.setAttribute("rel", "noopener noreferrer nofollow");
});

function sanitize(html) {
  const fragment = document.adoptNode(purify.sanitize(html.replace(ALIGNED, '<$1 data-align="$2">'), SANITIZE));
  for (const pre of fragment.querySelectorAll("pre")) addCodeHeader(pre);
  return fragment;
}

// ---- code blocks ------------------------------------------------------------------------------------

function languageOf(code) {
  return [...code.classList].find((name) => name.startsWith("language-"))?.slice("language-".length) || "";
}

function addCodeHeader(pre) {
  const code = pre.querySelector("code");
  const box = el("div", "code-block");
  const head = el("div", "code-head");
  head.append(
    el("span", "code-lang", code ? languageOf(code) : ""),
    copyButton("copy-code", "Copy code", () => (code ?? pre).textContent.replace(/\n$/, ""), "Copy"),
  );
  pre.replaceWith(box);
  box.append(head, pre);
}

// Closed blocks keep their text, so the same code is highlighted again only when its block is rebuilt
// (a list still growing around it): remember the last results.
const highlighted = new Map();

function highlight(code) {
  const language = languageOf(code);
  if (code.classList.contains("hljs") || !hljs.getLanguage(language)) return;
  const key = `${language}\n${code.textContent}`;
  let html = highlighted.get(key);
  if (html === undefined) {
    html = hljs.highlight(code.textContent, { language, ignoreIllegals: true }).value;
    highlighted.set(key, html);
    if (highlighted.size > 200) highlighted.delete(highlighted.keys().next().value);
  }
  code.innerHTML = html; // highlight.js escapes the code: its own <span class="hljs-…"> are the only markup
  code.classList.add("hljs");
}

function highlightIn(nodes) {
  for (const node of nodes) {
    if (node.nodeType === Node.ELEMENT_NODE) node.querySelectorAll("pre > code").forEach(highlight);
  }
}

// ---- a saved reply -----------------------------------------------------------------------------------

/** Shows HTML rendered by the server, sanitised again here by the same rules, its code highlighted. */
export function showHtml(body, html) {
  const fragment = sanitize(html);
  highlightIn([...fragment.childNodes]);
  body.replaceChildren(fragment);
}

/** The text of a rendered body as a reader hears it (without the code blocks' headers). */
export function plainText(body) {
  const copy = body.cloneNode(true);
  copy.querySelectorAll(".code-head").forEach((head) => head.remove());
  return copy.textContent;
}

// ---- a streaming reply ------------------------------------------------------------------------------

/** Starts a reply streaming into `body`. Each render runs inside `around(render)` (which keeps the
 *  conversation scrolled to its end, if it was there before the rendered text grew). */
export function streamInto(body, around = (render) => render()) {
  const view = { body, around, source: "", blocks: [], tail: document.createTextNode(""), frame: 0 };
  body.replaceChildren(view.tail);
  return view;
}

/** A token: its text is in the DOM at once (raw, until the next frame renders it). */
export function appendText(view, text) {
  view.source += text;
  view.tail.appendData(text);
  if (!view.frame) view.frame = requestAnimationFrame(() => render(view, false));
}

/** The whole text so far (a reply that was streaming when the page loaded). */
export function setText(view, text) {
  view.source = text;
  render(view, false);
}

/** The reply is saved with the text that streamed: render it once more, finished (every block closed).
 *  False when the body no longer shows the stream (an error replaced it). */
export function finishStream(view) {
  return render(view, true);
}

export function stopStream(view) {
  if (view?.frame) cancelAnimationFrame(view.frame);
  if (view) view.frame = 0;
}

// Top-level blocks (a paragraph, a list, a table, a code block…): from a level-0 token to the level-0
// token that closes it. Rendered one by one, they give the HTML of the whole text.
function topLevelBlocks(tokens) {
  const blocks = [];
  let start = 0;
  tokens.forEach((token, index) => {
    if (token.level === 0 && token.nesting <= 0) {
      blocks.push(tokens.slice(start, index + 1));
      start = index + 1;
    }
  });
  return blocks;
}

// A code block at the end of the text is closed once its closing fence is the text's last line.
function closedFence(block, source) {
  const [fence] = block;
  if (block.length !== 1 || fence.type !== "fence" || fence.map[1] - fence.map[0] < 2) return false;
  const text = source.trimEnd();
  const last = text.slice(text.lastIndexOf("\n") + 1).trim();
  return last.length >= fence.markup.length && [...last].every((char) => char === fence.markup[0]);
}

function render(view, complete) {
  stopStream(view);
  if (view.tail.parentNode !== view.body) return false; // the body shows something else now (an error)
  view.around(() => update(view, complete));
  return true;
}

function update(view, complete) {
  const env = {};
  const blocks = topLevelBlocks(md.parse(view.source, env));
  const html = blocks.map((block) => md.renderer.render(block, md.options, env));
  let same = 0;
  while (same < view.blocks.length && same < html.length && view.blocks[same].html === html[same]) same += 1;
  for (const old of view.blocks.splice(same)) old.nodes.forEach((node) => node.remove());
  for (const blockHtml of html.slice(same)) {
    const fragment = sanitize(blockHtml);
    view.blocks.push({ html: blockHtml, nodes: [...fragment.childNodes], highlighted: false });
    view.body.insertBefore(fragment, view.tail);
  }
  view.tail.data = "";
  view.blocks.forEach((block, index) => {
    const closed = complete || index < blocks.length - 1 || closedFence(blocks[index], view.source);
    if (!block.highlighted && closed) {
      highlightIn(block.nodes);
      block.highlighted = true;
    }
  });
}
