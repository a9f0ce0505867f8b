// "Use my location": a labelled button that asks the browser for its position (a Streamlit
// components.v2 component: plain JavaScript in the app's own page, no iframe, no build step).
// pages/_location.py passes the words in the user's language as `data`; they are shown with
// textContent.  State sent: position {latitude, longitude, accuracy}, kept across reruns.

const ICON =
  '<svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true"><path fill="currentColor" ' +
  'd="M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zm8.94 3A8.99 8.99 0 0 0 13 3.06V1h-2v2.06A8.99 8.99 0 0 0 ' +
  '3.06 11H1v2h2.06A8.99 8.99 0 0 0 11 20.94V23h2v-2.06A8.99 8.99 0 0 0 20.94 13H23v-2h-2.06zM12 ' +
  '19a7 7 0 1 1 0-14 7 7 0 0 1 0 14z"/></svg>';

export default function leadradarLocation({ data, parentElement, setStateValue }) {
  const words = data || {};
  let root = parentElement.querySelector(".lr-location");
  if (!root) {
    root = document.createElement("div");
    root.className = "lr-location";
    const button = document.createElement("button");
    button.type = "button";
    button.innerHTML = ICON; // a constant: no user text
    button.append(document.createElement("span"));
    const status = document.createElement("span");
    status.className = "lr-status";
    status.setAttribute("role", "status"); // read out when it changes
    root.append(button, status);
    parentElement.append(root);
  }
  const button = root.querySelector("button");
  const status = root.querySelector(".lr-status");
  button.querySelector("span").textContent = words.label || "";
  if (words.found) status.textContent = words.found;
  button.onclick = () => {
    if (!window.isSecureContext || !navigator.geolocation) {
      status.textContent = words.insecure || "";
      return;
    }
    status.textContent = words.asking || "";
    button.disabled = true;
    navigator.geolocation.getCurrentPosition(
      (where) => {
        button.disabled = false;
        const { latitude, longitude, accuracy } = where.coords;
        setStateValue("position", { latitude, longitude, accuracy });
      },
      (failure) => {
        button.disabled = false;
        status.textContent = (failure.code === 1 ? words.denied : words.unavailable) || "";
      },
      { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 },
    );
  };
}
