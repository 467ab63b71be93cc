// Placeholder until the run command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute run: not built yet\n');
  return 1;
}
