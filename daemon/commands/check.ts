// Placeholder until the check command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute check: not built yet\n');
  return 1;
}
