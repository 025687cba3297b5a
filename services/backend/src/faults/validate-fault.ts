export { validateFault } from "../../../../lib/chaos/validate-fault.ts";
