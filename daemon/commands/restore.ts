// Placeholder until the restore command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute restore: not built yet\n');
  return 1;
}
