/** Problems found in rule sources, located the way the person who edits them looks. */

/**
 * One error or warning. `row` is the row number Excel shows (the header is row 1); `column`
 * is the column's letter and the header as typed (`C 药品编码`), or for a JSON library the
 * field path (`require.ageMax`).
 */
export interface SourceProblem {
  file: string;
  sheet?: string;
  row?: number;
  column?: string;
  ruleId?: string;
  /** Position of the rule in a JSON library, counting from 1, where there is no row. */
  item?: number;
  message: string;
}

/** One line for a terminal or a log: `indication.csv 第 3 行 C 药品编码 [IND-0001]: …`. */
export function formatSourceProblem(problem: SourceProblem): string {
  const parts = [problem.file];
  if (problem.sheet !== undefined) parts.push(`工作表「${problem.sheet}」`);
  if (problem.row !== undefined) parts.push(`第 ${problem.row} 行`);
  if (problem.item !== undefined) parts.push(`第 ${problem.item} 条规则`);
  if (problem.column !== undefined) parts.push(problem.column);
  if (problem.ruleId !== undefined) parts.push(`[${problem.ruleId}]`);
  return `${parts.join(' ')}: ${problem.message}`;
}
