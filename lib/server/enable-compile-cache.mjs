// Preloaded (`node --import`) ahead of a service's TypeScript by serviceNodeFlags. With Node's compile cache on
// from the first module, a restart reads every type-stripped source from the cache and never loads Node's
// TypeScript stripper, which otherwise keeps 10-25 MB of resident memory for the life of the process. Plain
// JavaScript on purpose: a .ts file here would load the stripper itself.
import { enableCompileCache } from "node:module";

enableCompileCache();
