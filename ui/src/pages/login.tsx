import { useState } from "preact/hooks";
import { logIn, type Session } from "../api";
import { ErrorBox } from "../common";

export function LoginPage({ onLogin }: { onLogin: (s: Session) => void }) {
  const [username, setUsername] = useState("admin");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onLogin(await logIn(username, password));
    } catch (x) {
      setError(x as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login card" onSubmit={submit}>
      <h1>Log in</h1>
      <label for="username">User name</label>
      <input id="username" name="username" autoComplete="username" required value={username}
        onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autoComplete="current-password" required
        value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
      <ErrorBox error={error} />
      <button type="submit" class="primary" disabled={busy}>Log in</button>
    </form>
  );
}
