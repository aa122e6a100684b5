// Cursor pagination, newest first, the same for every list: ids are time-ordered, so
// `starting_after` is simply "ids below this one". One extra row tells whether there is more.
import type { Queryable, Row } from "./db.ts";

export type ListedTable = "payments" | "refunds" | "disputes" | "events" | "mandates" | "virtual_accounts";

export interface PageRequest {
  limit: number;
  starting_after?: string;
}

/** `equals` maps column → value; undefined values are no filter. Table and column names come from
 *  code, never from a request. */
export async function listPage(
  db: Queryable,
  table: ListedTable,
  equals: Record<string, string | undefined>,
  page: PageRequest,
): Promise<{ rows: Row[]; has_more: boolean }> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  for (const [column, value] of Object.entries(equals)) {
    if (value === undefined) continue;
    conditions.push(`${column} = ?`);
    params.push(value);
  }
  if (page.starting_after) {
    conditions.push("id < ?");
    params.push(page.starting_after);
  }
  params.push(page.limit + 1);
  const rows = await db.all<Row>(`SELECT * FROM ${table} WHERE ${conditions.join(" AND ")} ORDER BY id DESC LIMIT ?`, params);
  return { rows: rows.slice(0, page.limit), has_more: rows.length > page.limit };
}
