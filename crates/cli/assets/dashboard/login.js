// The login page: the token is sent once (`POST /api/login`); the server
// answers with an HttpOnly session cookie, and the dashboard opens.
import { postJson } from "/assets/common.js";

const input = document.getElementById("token");
const result = document.getElementById("login-result");

async function login() {
  result.textContent = "…";
  result.classList.remove("bad");
  const r = await postJson("/api/login", { token: input.value });
  if (r.ok) {
    location.assign("/");
    return;
  }
  result.textContent = `${r.status}: ${r.body.error || "refused"}`;
  result.classList.add("bad");
}

document.getElementById("login").addEventListener("click", login);
input.addEventListener("keydown", (e) => {
  if (e.key === "Enter") login();
});
input.focus();
