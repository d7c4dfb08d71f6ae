using Shouldly;
using Tally.Cli;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary>The command line itself: help everywhere, unknown options and bad values refused with exit code 2 before anything runs.</summary>
[Collection("console")]
public class CommandLineTests
{
    private static Task<(int Exit, string Out, string Error)> Run(params string[] args) => CliRun.RunAsync(args);

    [Fact]
    public async Task help_exits_0_and_lists_the_commands()
    {
        var (exit, output, _) = await Run("--help");
        exit.ShouldBe(0);
        output.ShouldContain("bench");
    }

    [Theory]
    [InlineData("bench", "ingest", "--help")]
    [InlineData("bench", "read", "--help")]
    [InlineData("bench", "boards", "-h")]
    [InlineData("bench", "soak", "--help")]
    [InlineData("bench", "--help")]
    [InlineData("demo", "--help")]
    [InlineData("import", "--help")]
    [InlineData("compat", "--help")]
    public async Task help_on_a_command_exits_0_and_runs_nothing(params string[] args)
    {
        var (exit, output, _) = await Run(args);
        exit.ShouldBe(0);
        output.ShouldContain("Usage:");
        output.ShouldNotContain("run 1 of");
    }

    [Theory]
    [InlineData("--evnts", "bench", "ingest", "--evnts", "5")]
    [InlineData("nope", "nope")]
    [InlineData("abc", "bench", "boards", "--sizes", "abc")]
    [InlineData("--events must be a positive whole number", "bench", "ingest", "--events", "0")]
    [InlineData("--concurrency must be a positive whole number", "bench", "read", "--concurrency", "-3")]
    [InlineData("--batch must be at most 10000", "bench", "soak", "--batch", "20000")]
    [InlineData("--reads must be 0 or more", "bench", "soak", "--reads", "-1")]
    [InlineData("Required command", "bench")]
    [InlineData("nope", "demo", "--profile", "nope")]
    [InlineData("--profile", "demo")]
    [InlineData("--days must be a positive whole number", "demo", "--profile", "climate", "--days", "0")]
    [InlineData("--batch must be at most 10000", "import", "--tenant", "t", "--from", "/etc/hostname", "--batch", "20000")]
    [InlineData("/no/such.csv", "import", "--tenant", "t", "--from", "/no/such.csv")]
    [InlineData("--map takes COLUMN=FIELD", "import", "--tenant", "t", "--from", "/etc/hostname", "--map", "co2")]
    [InlineData("--schema cannot be 'public'", "compat", "--tenant", "t", "--schema", "public")]
    [InlineData("--schema must be", "compat", "--tenant", "t", "--schema", "Bad-Name")]
    public async Task a_wrong_command_line_exits_2_naming_the_problem(string named, params string[] args)
    {
        var (exit, _, error) = await Run(args);
        exit.ShouldBe(2);
        error.ShouldContain(named);
        error.ShouldContain("--help");
    }

    [Fact]
    public async Task version_exits_0()
    {
        var (exit, output, _) = await Run("--version");
        exit.ShouldBe(0);
        output.Trim().ShouldNotBeEmpty();
    }
}
