// Follows a build's event stream (GET .../builds/{n}/events) with fetch, so the page knows
// where the replay of what happened before it opened ends (the `: stream open` comment).
// A stream cut before the build's `end` is opened again after a pause with the id of the last
// event it got (`Last-Event-ID`): the node sends only what came after it. When it cannot (its
// `reset` event), or on the first connection, the build is replayed from the start and
// `reset` lets the page start over.
import { SseParser } from "./sse";

export interface FollowHandlers {
  /** An event; `live` is false while the node replays what happened before this connection. */
  event(type: string, data: any, live: boolean): void;
  /** The events that follow replay the build from the start. */
  reset(): void;
  /** The stream cannot be opened (unknown build, signed out...). */
  failed(status: number, message: string): void;
}

export function followBuild(url: string, on: FollowHandlers): () => void {
  let stopped = false;
  let controller: AbortController | null = null;
  let retry = 1000;
  let lastId = ""; // of the last event handed on, across connections
  let timer: ReturnType<typeof setTimeout> | undefined;

  const connect = async () => {
    controller = new AbortController();
    let ended = false;
    try {
      const headers: Record<string, string> = { Accept: "text/event-stream" };
      if (lastId) headers["Last-Event-ID"] = lastId;
      const res = await fetch(url, {
        headers,
        credentials: "same-origin",
        signal: controller.signal,
      });
      if (!res.ok || !res.body) {
        let message = res.statusText;
        try {
          message = (await res.json())?.error?.message ?? message;
        } catch {
          /* no JSON: keep the status text */
        }
        on.failed(res.status, message);
        return;
      }
      if (!lastId) on.reset();
      const parser = new SseParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let live = false;
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        for (const item of parser.feed(value)) {
          if ("comment" in item) {
            if (item.comment === "stream open") live = true;
            continue;
          }
          let data: any;
          try {
            data = JSON.parse(item.data);
          } catch {
            continue; // a malformed event is skipped
          }
          if (parser.lastId) lastId = parser.lastId;
          if (item.type === "reset") {
            on.reset(); // the node could not resume from lastId: the whole build follows
            continue;
          }
          if (item.type === "end") ended = true;
          on.event(item.type, data, live);
        }
        retry = 1000;
      }
    } catch {
      /* network error or stopped: handled below */
    }
    if (!stopped && !ended) {
      timer = setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    }
  };
  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    controller?.abort();
  };
}
