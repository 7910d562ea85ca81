// What this tab knows: one object, read and written by the page's modules.
import { layout } from "./page.js";

export const state = {
  chatId: layout.dataset.chatId || null,
  chat: null,
  // Settles once the models and the conversation have loaded (app.js starts both): a send waits for it.
  ready: Promise.resolve(),
  lastSeq: 0, // highest seq of a finished message this tab has shown
  nodes: new Map(), // message id -> its <article> (the messages of the branch shown, and a turn's new ones)
  messages: new Map(), // message id -> the message as last saved (its text, parent, versions, status)
  models: [], // the chat models one may pick (GET /api/models)
  // A new chat's page: the settings it will start with, once its first message creates it ({presetId,
  // presetName, systemPrompt, temperature}), or null.
  draft: null,
  streams: new Map(), // message id -> a streaming reply's view (markdown.js: its text and rendered blocks)
  // The turn this tab shows (its own, or another tab's seen over the socket): {id, seq, node, lastEventId,
  // saved, savedAt, own, continues}. Its events may come over SSE, the socket and the event log, in any mix:
  // eventIds keep each once. (A continued reply is a new turn with the same id.)
  turn: null,
  resuming: false,
  busy: false,
  sending: false, // this tab's own turn request is under way (its stream_start is expected)
  remoteTurn: null, // the reply of a turn this tab did not send, while it runs (Stop shows for it too)
  socket: null,
  retries: 0,
  recorder: null,
  // Spoken replies: the setting (kept per user in this browser), and the sentences waiting to be played.
  speak: localStorage.getItem(`speakReplies:${layout.dataset.username}`) === "1",
  spoken: new Set(), // "messageId:index" already queued
  playlist: [],
  player: null,
  talk: null, // conversation mode: {socket, context, stream, node}
};
