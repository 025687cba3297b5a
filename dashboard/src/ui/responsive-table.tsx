import type { ComponentChildren } from "preact";
import "./responsive-table.css";

/** A column heading; `numeric` aligns it with its figures. */
export interface Column {
  label: ComponentChildren;
  numeric?: boolean;
}

/** The heading of a column of row buttons: named for screen readers, blank on screen. */
export const actionsColumn: Column = { label: <span class="visually-hidden">Actions</span> };

/**
 * A table in a scrolling wrapper whose rows become labelled cards at phone width: give each cell a
 * `data-label` (its column's name) and each row's heading cell a `th scope="row"`. `class` and `data-*` props
 * go to the table (for styles of its own, and for tests to find it).
 */
export function ResponsiveTable(
  props: { columns: readonly Column[]; caption?: ComponentChildren; children: ComponentChildren; class?: string } & { [data: `data-${string}`]: string | boolean | undefined },
) {
  const { columns, caption, children, class: className, ...data } = props;
  return (
    <div class="table-wrap">
      <table class={className ? `responsive-table ${className}` : "responsive-table"} {...data}>
        {caption !== undefined && <caption>{caption}</caption>}
        <thead>
          <tr>
            {columns.map((c, i) => (
              <th key={i} scope="col" class={c.numeric ? "num" : undefined}>
                {c.label}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
