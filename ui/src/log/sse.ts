// Server-Sent Events read from a fetch body, so the page sees what EventSource hides: the comment
// line `: stream open` that the node sends once the replay of a build is over (lines before it
// were printed before the page opened; lines after it are live).

export type SseItem = { type: string; data: string } | { comment: string };

/** Feeds text as it arrives; returns the complete events and comments so far. `lastId` is the
 *  id a reconnect sends as `Last-Event-ID`, as a browser keeps it: the latest `id:` field of the
 *  events complete so far. */
export class SseParser {
  private buffer = "";
  private type = "";
  private data: string[] = [];
  private idBuffer = "";
  lastId = "";

  feed(text: string): SseItem[] {
    this.buffer += text;
    const out: SseItem[] = [];
    let start = 0;
    for (;;) {
      const nl = this.buffer.indexOf("\n", start);
      if (nl < 0) break;
      let line = this.buffer.slice(start, nl);
      start = nl + 1;
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        this.lastId = this.idBuffer;
        if (this.data.length > 0) out.push({ type: this.type || "message", data: this.data.join("\n") });
        this.type = "";
        this.data = [];
      } else if (line.startsWith(":")) {
        out.push({ comment: line.slice(1).trim() });
      } else {
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? "" : line.slice(colon + 1);
        if (value.startsWith(" ")) value = value.slice(1);
        if (field === "event") this.type = value;
        else if (field === "data") this.data.push(value);
        else if (field === "id" && !value.includes("\0")) this.idBuffer = value;
      }
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }
}
