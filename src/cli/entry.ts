// Runs the CLI as a process of its own (the lab starts its daemon this way).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
