// Client-side routes on the History API. The node answers every such path with index.html, so
// a link can be opened, bookmarked and shared; names are percent-encoded segments.
import { useEffect, useState } from "preact/hooks";

export type Params = Record<string, string>;

/** Patterns like "/pipelines/:p/jobs/:j"; a match gives the decoded parameters. */
export function match(pattern: string, pathname: string): Params | null {
  const want = pattern.split("/").filter(Boolean);
  const got = pathname.split("/").filter(Boolean);
  if (want.length !== got.length) return null;
  const params: Params = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) {
      try {
        params[want[i].slice(1)] = decodeURIComponent(got[i]);
      } catch {
        return null;
      }
    } else if (want[i] !== got[i]) return null;
  }
  return params;
}

/** A UI link to a place: href("pipelines", p, "jobs", j) */
export function href(...segments: (string | number)[]): string {
  return "/" + segments.map((s) => encodeURIComponent(String(s))).join("/");
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  dispatchEvent(new PopStateEvent("popstate"));
  window.scrollTo(0, 0);
}

/** The current location; re-renders on navigation. */
export function useLocation(): { pathname: string; search: URLSearchParams; hash: string } {
  const [, set] = useState(0);
  useEffect(() => {
    const f = () => set((n) => n + 1);
    addEventListener("popstate", f);
    return () => removeEventListener("popstate", f);
  }, []);
  return {
    pathname: location.pathname,
    search: new URLSearchParams(location.search),
    hash: location.hash,
  };
}

/** Plain left clicks on same-origin links navigate without reloading the page. */
export function interceptLinks(): void {
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey)
      return;
    const a = (e.target as Element).closest("a");
    if (!a || a.target || a.hasAttribute("download") || a.origin !== location.origin) return;
    if (a.pathname.startsWith("/api/")) return;
    e.preventDefault();
    if (a.pathname === location.pathname && a.search === location.search && a.hash) {
      history.pushState(null, "", a.href);
      dispatchEvent(new PopStateEvent("popstate"));
      return;
    }
    navigate(a.pathname + a.search + a.hash);
  });
}
