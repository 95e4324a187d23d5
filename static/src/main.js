// The web pad's entry: the same bundle serves the home page (/, your own code and shared runs) and a pad
// (/p/<id>#key=...), and a pad framed by another site (/embed/p/<id>#key=..., docs/embed.md). The home page is built
// at once, as before; a pad's page, with Yjs, is loaded only on a pad.

import "@xterm/xterm/css/xterm.css";
import "./style.css";
import "./embed.css";

import { padPathOf } from "./embed-api.js";
import { startHome } from "./home.js";
import { parsePadAddress } from "./pad-link.js";

if (parsePadAddress(padPathOf(location.pathname), location.hash) !== null) import("./pad-page.js");
else startHome();
