// Placeholder until the plan command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute plan: not built yet\n');
  return 1;
}
