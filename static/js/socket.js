// The chat's websocket: every tab of a chat gets its saved messages and, while shown, its running reply.
// It reconnects with backoff, catching up from the last finished message it showed.
import { els } from "./page.js";
import { state } from "./state.js";
import { onTurnEvent } from "./turn.js";

export function connectSocket() {
  if (!state.chatId) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // A hidden tab gets saved messages only, not each token of a running reply; shown again, the server
  // sends it the reply's events so far (duplicates are dropped by eventId).
  const live = document.hidden ? "&live=0" : "";
  const socket = new WebSocket(`${scheme}://${location.host}/ws/chats/${state.chatId}/?after=${state.lastSeq}${live}`);
  state.socket = socket;
  let offlineTimer = null;
  socket.onopen = () => {
    state.retries = 0;
    els.offline.hidden = true;
  };
  socket.onmessage = (message) => message.data !== "pong" && onTurnEvent(JSON.parse(message.data));
  socket.onclose = () => {
    if (state.socket !== socket) return;
    offlineTimer = setTimeout(() => (els.offline.hidden = false), 1000);
    const delay = Math.min(10000, 500 * 2 ** state.retries++) * (0.8 + Math.random() * 0.4);
    setTimeout(() => {
      clearTimeout(offlineTimer);
      connectSocket();
    }, delay);
  };
}

// The socket follows the tab's visibility (live or not), and the banner the browser's network state.
export function watchConnection() {
  document.addEventListener("visibilitychange", () => {
    if (state.socket?.readyState === WebSocket.OPEN) {
      state.socket.send(JSON.stringify({ type: "live", on: !document.hidden }));
    }
  });
  window.addEventListener("offline", () => (els.offline.hidden = false));
  window.addEventListener("online", () => state.socket?.readyState === WebSocket.OPEN && (els.offline.hidden = true));
}
