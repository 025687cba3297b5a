/** Whether `value` is one of the numbers of a generated (erasable) enum object. */
export function isEnumValue(enumObject: Readonly<Record<string, number>>, value: number): boolean {
  return Object.values(enumObject).includes(value);
}
