// Placeholder until the monitor command lands; replaced by its owner.
export async function main(_args: string[]): Promise<number> {
  process.stderr.write('tunroute monitor: not built yet\n');
  return 1;
}
