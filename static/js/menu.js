// Menus that open from a button (the chat's actions, a reply's "regenerate with another model"), after the
// WAI-ARIA menu button pattern: the first item takes the focus, the arrow keys, Home and End move it, Escape
// closes the menu and gives the focus back to its button, Tab or a click elsewhere closes it.
import { el } from "./page.js";

let open = null; // {menu, button}

export function closeMenu({ focus = false } = {}) {
  if (!open) return;
  const { menu, button } = open;
  open = null;
  menu.remove();
  button.setAttribute("aria-expanded", "false");
  document.removeEventListener("pointerdown", onPointerDown, true);
  window.removeEventListener("resize", onAway);
  window.removeEventListener("scroll", onAway, true);
  if (focus) button.focus();
}

function onPointerDown(event) {
  if (open && !open.menu.contains(event.target) && !open.button.contains(event.target)) closeMenu();
}

function onAway(event) {
  if (!open?.menu.contains(event.target)) closeMenu();
}

function onKeyDown(event) {
  const items = [...open.menu.querySelectorAll("[role=menuitem]")];
  const at = items.indexOf(document.activeElement);
  const moves = { ArrowDown: at + 1, ArrowUp: at - 1, Home: 0, End: items.length - 1 };
  if (event.key in moves) {
    event.preventDefault();
    items[(moves[event.key] + items.length) % items.length].focus();
  } else if (event.key === "Escape") {
    event.preventDefault();
    event.stopPropagation(); // Escape closes the menu only: it does not stop a reply too
    closeMenu({ focus: true });
  } else if (event.key === "Tab") {
    event.preventDefault();
    closeMenu({ focus: true });
  }
}

// Below the button, or above it when there is no room below; inside the window.
function place(menu, button) {
  const box = button.getBoundingClientRect();
  const { width, height } = menu.getBoundingClientRect();
  const below = box.bottom + 4 + height <= innerHeight;
  menu.style.top = `${Math.max(4, below ? box.bottom + 4 : box.top - 4 - height)}px`;
  menu.style.left = `${Math.max(4, Math.min(box.left, innerWidth - width - 4))}px`;
}

// An item is {name, label, action} or a link {name, label, href, download}; `current` marks the one in use,
// `danger` one that destroys.
function menuItem(item) {
  const entry = el(item.href ? "a" : "button", item.danger ? "danger" : "", item.label);
  entry.setAttribute("role", "menuitem");
  entry.tabIndex = -1;
  entry.dataset.action = item.name;
  if (item.href) {
    entry.href = item.href;
    if (item.download) entry.setAttribute("download", "");
  } else {
    entry.type = "button";
  }
  if (item.current) entry.setAttribute("aria-current", "true");
  entry.addEventListener("click", () => {
    if (item.href) {
      setTimeout(() => closeMenu({ focus: true })); // once the link has done its work
      return;
    }
    closeMenu({ focus: true });
    item.action();
  });
  return entry;
}

/** Opens (or, open already, closes) a menu named `label` of `items` (see menuItem) under `button`. */
export function toggleMenu(button, label, items) {
  if (open?.button === button) {
    closeMenu({ focus: true });
    return;
  }
  closeMenu();
  const menu = el("div", "menu");
  menu.setAttribute("role", "menu");
  menu.setAttribute("aria-label", label);
  menu.append(...items.map(menuItem));
  menu.addEventListener("keydown", onKeyDown);
  document.body.append(menu);
  place(menu, button);
  open = { menu, button };
  button.setAttribute("aria-expanded", "true");
  document.addEventListener("pointerdown", onPointerDown, true);
  window.addEventListener("resize", onAway);
  window.addEventListener("scroll", onAway, true);
  menu.querySelector("[role=menuitem]")?.focus();
}
