namespace Tally.Cli;

internal static class ReadBench
{
    public static Task<int> RunAsync(CliOptions options) => throw new CliException("not yet implemented");
}
