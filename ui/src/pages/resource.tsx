import { Page } from "../common";
import type { Params } from "../router";

// Placeholder: this page is being written.
export function ResourcePage({ params }: { params: Params }) {
  void params;
  return <Page title={params.r} />;
}
