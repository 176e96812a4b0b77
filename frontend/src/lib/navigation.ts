/** Moving between spans of interest (errors, the critical path, search matches) in tree order. Pure. */

/**
 * The next (direction 1) or previous (-1) of `targets` (tree indexes, ascending) after `current`, wrapping
 * around; undefined when there are none.
 */
export function nextTarget(targets: readonly number[], current: number, direction: 1 | -1): number | undefined {
  if (targets.length === 0) return undefined;
  if (direction === 1) return targets.find((t) => t > current) ?? targets[0];
  for (let i = targets.length - 1; i >= 0; i--) if (targets[i]! < current) return targets[i];
  return targets[targets.length - 1];
}

/** Ids of both match lists, once each, in tree order (unknown ids dropped). */
export function mergeMatches(
  local: readonly string[],
  remote: readonly string[],
  indexById: ReadonlyMap<string, number>,
): string[] {
  const ids = new Set<string>();
  for (const id of [...local, ...remote]) if (indexById.has(id)) ids.add(id);
  return [...ids].sort((a, b) => indexById.get(a)! - indexById.get(b)!);
}

/** Tree indexes of the spans matching a test, ascending. */
export function indexesWhere<S>(nodes: readonly { span: S }[], test: (span: S) => boolean): number[] {
  const found: number[] = [];
  nodes.forEach((node, index) => {
    if (test(node.span)) found.push(index);
  });
  return found;
}
