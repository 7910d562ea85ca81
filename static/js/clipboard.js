// Copy buttons: a code block's and a message's. They say "Copied" for a moment once the text is on the
// clipboard.
import { el } from "./page.js";

const COPY = '<svg class="i" viewBox="0 0 24 24" aria-hidden="true"><rect x="9" y="9" width="12" height="12" rx="2"/><path d="M5 15H4a1 1 0 0 1-1-1V4a1 1 0 0 1 1-1h10a1 1 0 0 1 1 1v1"/></svg>';
const DONE = '<svg class="i" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 12l5 5L20 6"/></svg>';

async function writeText(text) {
  if (navigator.clipboard?.writeText) return navigator.clipboard.writeText(text);
  // The clipboard API needs a secure context (https, localhost): a page served over plain http on a LAN
  // falls back to the older copy command.
  const area = el("textarea", "visually-hidden");
  area.value = text;
  area.readOnly = true;
  document.body.append(area);
  area.select();
  const copied = document.execCommand("copy");
  area.remove();
  if (!copied) throw new Error("The browser refused to copy.");
}

/** A button that copies `text()`: with a visible label (`label`), or an icon named by `name`. */
export function copyButton(className, name, text, label) {
  const button = el("button", `copy ${className}${label ? "" : " icon small"}`);
  button.type = "button";
  button.title = name;
  button.setAttribute("aria-label", name);
  const show = (done) => {
    if (label) button.textContent = done ? "Copied" : label;
    else button.innerHTML = done ? DONE : COPY;
  };
  show(false);
  let timer = 0;
  button.addEventListener("click", async () => {
    try {
      await writeText(text());
    } catch {
      button.title = "Could not copy";
      return;
    }
    button.setAttribute("aria-label", "Copied");
    show(true);
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.setAttribute("aria-label", name);
      show(false);
    }, 1500);
  });
  return button;
}
