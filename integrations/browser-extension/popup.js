// The popup: the last result the native host sent back (the segment line quotaline
// rendered, or the error), and a button to read the usage now.
"use strict";

const api = globalThis.browser ?? globalThis.chrome;

function show(last) {
  const line = document.getElementById("line");
  const error = document.getElementById("error");
  const when = document.getElementById("when");
  if (!last) return;
  line.textContent = last.ok ? last.line || "(no windows)" : "no numbers";
  error.textContent = last.ok ? "" : last.error;
  when.textContent = `last result ${new Date(last.at).toLocaleTimeString()}`;
}

api.storage.local.get("last").then(({ last }) => show(last));
document.getElementById("poll").addEventListener("click", async () => {
  document.getElementById("when").textContent = "reading…";
  show(await api.runtime.sendMessage("poll"));
});
