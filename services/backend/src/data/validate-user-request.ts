import type { CreateUserRequest, ListUsersRequest } from "../../../../gen/mesh/data/v1/data_pb.ts";
import { invalidArguments } from "../../../../lib/errors/connect-errors.ts";
import { checkEmail, checkName, checkPageSize, checkPageToken, checkUuid, type Violation } from "./field-checks.ts";
import type { PageCursor } from "./page-token.ts";
import { timestampKey } from "./validate-item-request.ts";

export function validateCreateUser(req: CreateUserRequest): { email: string; name: string } {
  const out: Violation[] = [];
  if (req.user === undefined) {
    out.push({ field: "user", reason: "is required" });
    throw invalidArguments(out);
  }
  checkEmail(out, "user.email", req.user.email);
  checkName(out, "user.name", req.user.name);
  if (out.length > 0) throw invalidArguments(out);
  return { email: req.user.email, name: req.user.name };
}

export function validateUserId(id: string): string {
  const out: Violation[] = [];
  const valid = checkUuid(out, "id", id);
  if (valid === undefined) throw invalidArguments(out);
  return valid;
}

/** Users are listed in one order only, so every token shares one scope. */
export const userListScope = "users|order=create_time|desc=true";

export function validateListUsers(req: ListUsersRequest): { pageSize: number; cursor: PageCursor | undefined } {
  const out: Violation[] = [];
  const pageSize = checkPageSize(out, "page_size", req.pageSize);
  const cursor = checkPageToken(out, "page_token", req.pageToken, userListScope, (key) => timestampKey.test(key));
  if (out.length > 0) throw invalidArguments(out);
  return { pageSize, cursor };
}
