// The checkout's workstation CLI: every command, the hooks from source, build and demo included.
import { Commands } from './commands.ts';
import { dispatch } from './dispatch.ts';

process.exitCode = await dispatch(process.argv.slice(2), Commands);
