namespace Tally.Cli;

internal static class IngestBench
{
    public static Task<int> RunAsync(CliOptions options) => throw new CliException("not yet implemented");
}
