// The page's elements, found once, and a helper that makes new ones.

export const $ = (selector) => document.querySelector(selector);

export const layout = $(".layout");

export const els = {
  list: $("#chat-list"), models: $("#model-select"), messages: $("#messages"), input: $("#input"),
  composer: $("#composer"), send: $("#send"), stop: $("#stop"), mic: $("#mic"), upload: $("#upload"),
  file: $("#audio-file"), error: $("#error"), title: $("#chat-title"), offline: $("#offline"),
  recording: $("#recording"), recTime: $("#rec-time"), recLevel: $("#rec-level"),
  search: $("#search"), results: $("#search-results"), speak: $("#speak"), talk: $("#talk"),
  talkBar: $("#talk-bar"), talkState: $("#talk-state"), talkLevel: $("#talk-level"),
};

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
