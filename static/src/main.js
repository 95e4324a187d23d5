// The web pad's entry: the same bundle serves the home page (/, your own code and shared runs) and a pad
// (/p/<id>#key=...). Each mode is its own module, loaded here by the address; the chunks they share load once.

import "@xterm/xterm/css/xterm.css";
import "./style.css";

import { parsePadAddress } from "./pad-link.js";

if (parsePadAddress(location.pathname, location.hash) !== null) import("./pad-page.js");
else import("./home.js");
