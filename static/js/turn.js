// A turn's events, whatever carries them: the POST response's SSE, websocket frames (a token frame may join
// several events: fromEventId…eventId) and the GET event stream all come to `onTurnEvent`.
// For tests and tools, it dispatches a "chat:turn-event" DOM event on `document` for each event of a turn as
// it applies it (once, whatever carried it), with the event's JSON as `detail`.
import { readEvents, request } from "./api.js";
import { followChat, followSaved, followStart } from "./branch.js";
import {
  appendThinking, appendToken, badge, messageNode, renderSaved, resumeStream, scrollDown, setStatus, showToolCall,
  streamed,
} from "./messages.js";
import { setBusy } from "./notice.js";
import { queueSpeech } from "./speech.js";
import { state } from "./state.js";

function beginTurn(event) {
  // Another tab's turn may be on another branch (an edit, a regenerated reply): the page reads it again.
  if (!state.sending) followStart(event);
  const user = messageNode(event.userMessage.id, "user", event.userMessage.seq);
  user.dataset.seq = event.userMessage.seq;
  const seq = event.assistantMessageSeq ?? event.userMessage.seq + 1;
  const node = messageNode(event.assistantMessageId, "assistant", seq);
  state.turn = {
    id: event.assistantMessageId, seq, node, lastEventId: event.eventId - 1, saved: false,
    own: state.sending, continues: Boolean(event.continues), savedAt: 0,
  };
  if (event.continues) resumeStream(node); // its tokens extend the text it has
  if (!state.busy) {
    state.remoteTurn = event.assistantMessageId;
    setBusy(true);
  }
  if (!streamed(node)) setStatus(node, "thinking…");
  scrollDown();
}

// A turn this tab did not send (another tab, conversation mode, an API client) keeps the chat busy here
// too, with Stop, until it ends.
function endRemoteTurn(replyId) {
  if (state.remoteTurn && (!replyId || state.remoteTurn === replyId)) {
    state.remoteTurn = null;
    setBusy(false);
  }
}

function chatChanged(detail) {
  document.dispatchEvent(new CustomEvent("chat:changed", { detail }));
}

// A stream_start begins a turn unless it is one already shown: the same reply's id, except when a stopped
// reply goes on (continueMessageId) as a turn of its own. The one exception to that: this tab's own
// continuation, finished over its POST before the socket's copy of its start came.
function startsTurn(event) {
  const turn = state.turn;
  if (turn?.id !== event.assistantMessageId) return true;
  if (!event.continues || !turn.saved) return false;
  return !(turn.own && turn.continues && !state.sending && Date.now() - turn.savedAt < 5000);
}

export function onTurnEvent(event) {
  if (event.eventId == null) {
    if (event.type === "message_saved") {
      // A push of a saved message, by seq: shown if it is on the branch shown, else that branch is read again.
      if (followSaved(event.message)) renderSaved(event.message);
      if (event.message.role === "assistant") endRemoteTurn(event.message.id);
      if (event.message.seq === 1) chatChanged({ type: "titled" }); // the first message names the chat
    } else if (event.type === "chat_updated" || event.type === "chat_deleted") {
      if (event.type === "chat_updated") followChat(event);
      chatChanged(event);
    }
    return;
  }
  if (event.type === "transcription") {
    const node = messageNode(event.messageId, "user", null);
    node.querySelector(".body").textContent = event.text;
    badge(node, "voice", "voice");
    return;
  }
  if (event.type === "speech") queueSpeech(event); // played once, whichever way it came
  if (event.type === "stream_start" && startsTurn(event)) beginTurn(event);
  const turn = state.turn;
  if (!turn || event.eventId <= turn.lastEventId) return; // not started here yet, or already shown
  if ((event.fromEventId ?? event.eventId) !== turn.lastEventId + 1) {
    resumeFromLog(); // a gap (or a batch that overlaps what was shown): read the rest from the log
    return;
  }
  turn.lastEventId = event.eventId;
  // The one hook for tests and tools: each event of a turn as this page applies it, once.
  document.dispatchEvent(new CustomEvent("chat:turn-event", { detail: event }));
  switch (event.type) {
    case "status":
      if (!streamed(turn.node) && !turn.saved) setStatus(turn.node, event.message);
      break;
    case "thinking":
      appendThinking(turn.node, event.content);
      break;
    case "tool_start":
      if (!turn.saved) {
        showToolCall(turn.node, { id: event.toolCallId, name: event.name, arguments: event.arguments, label: event.label });
        setStatus(turn.node, event.label);
      }
      break;
    case "tool_result":
      if (!turn.saved) {
        showToolCall(turn.node, { id: event.toolCallId, name: event.name, ok: event.ok, content: event.content,
                                  durationMs: event.durationMs });
        setStatus(turn.node, "thinking…");
      }
      break;
    case "execution_progress":
      if (!turn.saved) setStatus(turn.node, `step ${event.completedSteps} of ${event.totalSteps} done…`);
      break;
    case "token":
      if (!turn.saved) appendToken(turn.node, event.content);
      break;
    case "message_saved":
      renderSaved(event.message);
      break;
    case "stream_end":
      endRemoteTurn(turn.id);
      break;
    case "error":
      if (!turn.saved) {
        setStatus(turn.node, "");
        turn.node.classList.add("error");
        turn.node.querySelector(".body").textContent = event.message;
      }
      break;
  }
}

async function resumeFromLog() {
  const turn = state.turn;
  if (state.resuming || !turn) return;
  state.resuming = true;
  try {
    const response = await request(`/api/chats/${state.chatId}/events?after=${turn.seq}:${turn.lastEventId}`);
    for await (const event of readEvents(response)) {
      onTurnEvent(event);
      if (event.type === "stream_end") break;
    }
  } catch {
    // The socket's catch-up (message_saved by seq) still brings the saved reply.
  } finally {
    state.resuming = false;
  }
}
