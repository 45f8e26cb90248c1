// The shell: who is signed in, the navigation, and which page the location shows.
import { useEffect, useState } from "preact/hooks";
import { can, currentSession, logOut, whenUnauthenticated, type Session } from "./api";
import { ErrorBox, Loading } from "./common";
import { href, match, navigate, useLocation, type Params } from "./router";
import { SessionContext } from "./session";
import { LoginPage } from "./pages/login";
import { DashboardPage } from "./pages/dashboard";
import { PipelinePage } from "./pages/pipeline";
import { JobPage } from "./pages/job";
import { BuildPage } from "./pages/build";
import { ResourcePage } from "./pages/resource";
import { QueuePage } from "./pages/queue";
import { WorkersPage } from "./pages/workers";
import { SetPipelinePage } from "./pages/set-pipeline";

type PageComponent = (props: { params: Params }) => preact.JSX.Element;

/** Every page and its path, most specific first. */
const pages: [string, PageComponent][] = [
  ["/", DashboardPage],
  ["/queue", QueuePage],
  ["/workers", WorkersPage],
  ["/set-pipeline", SetPipelinePage],
  ["/pipelines/:p", PipelinePage],
  ["/pipelines/:p/jobs/:j", JobPage],
  ["/pipelines/:p/jobs/:j/builds/:n", BuildPage],
  ["/pipelines/:p/resources/:r", ResourcePage],
];

function NotFound() {
  return (
    <>
      <h1>Not found</h1>
      <p>
        Nothing here. <a href="/">Back to the dashboard</a>.
      </p>
    </>
  );
}

export function App() {
  const loc = useLocation();
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<Error | null>(null);
  useEffect(() => {
    whenUnauthenticated(() => setSession(null));
    currentSession().then(setSession, setError);
  }, []);

  if (error) return <main id="main"><ErrorBox error={error} /></main>;
  if (session === undefined) return <main id="main"><Loading /></main>;
  if (session === null || loc.pathname === "/login") {
    return (
      <main id="main" class="login-main">
        <LoginPage
          onLogin={(s) => {
            setSession(s);
            const next = loc.search.get("next");
            if (loc.pathname === "/login") navigate(next && next.startsWith("/") ? next : "/", true);
          }}
        />
      </main>
    );
  }

  let page = <NotFound />;
  for (const [pattern, Page] of pages) {
    const params = match(pattern, loc.pathname);
    if (params) {
      page = <Page params={params} key={loc.pathname} />;
      break;
    }
  }
  const here = (p: string) => (loc.pathname === p ? "page" : undefined);
  return (
    <SessionContext.Provider value={session}>
      <a class="skip" href="#main">Skip to content</a>
      <header class="top">
        <nav aria-label="Main">
          <a class="brand" href="/" aria-current={here("/")}>pikoci-node</a>
          <a href="/queue" aria-current={here("/queue")}>Queue</a>
          <a href="/workers" aria-current={here("/workers")}>Workers</a>
          {can(session, "admin") && (
            <a href={href("set-pipeline")} aria-current={here("/set-pipeline")}>Set a pipeline</a>
          )}
        </nav>
        <div class="user">
          <span title={`role: ${session.role}`}>
            {session.username} <span class="muted">({session.role})</span>
          </span>
          <button
            type="button"
            class="plain"
            onClick={async () => {
              await logOut().catch(() => {});
              setSession(null);
              navigate("/login", true);
            }}
          >
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>{page}</main>
    </SessionContext.Provider>
  );
}
