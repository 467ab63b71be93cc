// Placeholder until the decode command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute decode: not built yet\n');
  return 1;
}
