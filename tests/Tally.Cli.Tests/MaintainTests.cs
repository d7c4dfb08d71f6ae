using Shouldly;
using Tally.Cli;
using Tally.Testing;
using Xunit;

namespace Tally.Cli.Tests;

/// <summary><c>tally migrate</c> and <c>tally maintain</c> against a real database: a dry run changes nothing, a run
/// creates the partitions a tenant's retention range needs, a second runner waits its turn, bad values exit 2.</summary>
[Collection("console")]
public class MaintainTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync("maintain");

    public async Task DisposeAsync() => await _db.DisposeAsync();

    private async Task<(int Exit, string Out)> Run(params string[] args)
    {
        var (oldOut, oldError) = (Console.Out, Console.Error);
        using var output = new StringWriter();
        Console.SetOut(output);
        Console.SetError(output);
        // Spectre keeps the writer it first saw: give it this run's.
        Spectre.Console.AnsiConsole.Console = Spectre.Console.AnsiConsole.Create(new Spectre.Console.AnsiConsoleSettings { Out = new Spectre.Console.AnsiConsoleOutput(output), Ansi = Spectre.Console.AnsiSupport.No, ColorSystem = Spectre.Console.ColorSystemSupport.NoColors });
        try
        {
            return (await TallyCli.RunAsync([.. args, "--pg", _db.ConnectionString]), output.ToString());
        }
        finally
        {
            Console.SetOut(oldOut);
            Console.SetError(oldError);
        }
    }

    private Task<long> PartitionsAsync() => _db.ScalarAsync<long>("SELECT count(*) FROM pg_inherits WHERE inhparent = 'user_action_events'::regclass");

    [Fact]
    public async Task maintain_creates_the_partitions_of_every_tenants_range_and_a_dry_run_changes_nothing()
    {
        (await Run("migrate")).Exit.ShouldBe(0);
        await _db.ExecuteAsync("""INSERT INTO tenants (tenant_id, config) VALUES ('old', '{"time_zone":"UTC","measures":{"m":{}},"retention":{"raw_events_months":60}}')""");
        var before = await PartitionsAsync();

        var (exit, output) = await Run("maintain", "--dry-run", "--months-ahead", "12");
        exit.ShouldBe(0, output);
        output.ShouldContain("would ensure partitions");
        output.ShouldContain("would ANALYZE user_action_events");
        (await PartitionsAsync()).ShouldBe(before);

        (exit, output) = await Run("maintain", "--months-ahead", "12", "--no-analyze");
        exit.ShouldBe(0, output);
        var expected = DateTime.UtcNow.AddMonths(12).ToString("'user_action_events_y'yyyy'm'MM");
        (await _db.ScalarAsync<long>($"SELECT count(*) FROM pg_class WHERE relname = '{expected}'")).ShouldBe(1);
        (await PartitionsAsync()).ShouldBeGreaterThanOrEqualTo(73, "five years back for the 'old' tenant and a year ahead");
    }

    [Theory]
    [InlineData("maintain", "--months-ahead", "99")]
    [InlineData("maintain", "--vaccum")]
    public async Task bad_values_and_unknown_options_exit_2(params string[] args) => (await Run(args)).Exit.ShouldBe(2);
}
