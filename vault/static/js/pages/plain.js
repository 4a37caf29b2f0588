// Pages with no script of their own (not found, not allowed): translations, lock and sign-out still work.
import { boot } from "../app.js";

await boot();
