using System.CommandLine;
using System.Globalization;
using Npgsql;
using Spectre.Console;
using Tally.Postgres.Jobs;

namespace Tally.Cli.Maintain;

/// <summary>
/// <c>tally jobs</c>: each background runner's last run (reconciliation, snapshot, checkpoints, changes, export,
/// retention) from the job ledger, whichever silo ran it: when it finished, how long it took and the work it found.
/// A runner whose last run is much older than its interval has stopped: see the silo that holds the maintenance grain.
/// </summary>
internal static class JobsCommand
{
    public static Command Build()
    {
        var command = new Command("jobs", "Each background runner's last run: when, how long, the work it found.");
        command.SetAction(async (parse, ct) =>
        {
            await using var dataSource = NpgsqlDataSource.Create(new CliContext(parse).Postgres);
            var runs = await new JobLedger(dataSource).ReadRunsAsync(ct);
            if (runs.Count == 0)
            {
                AnsiConsole.MarkupLine("No runner has run yet (is a silo up? runners start a minute or so after it).");
                return TallyCli.Success;
            }
            var table = new Table().AddColumns("runner", "finished (UTC)", "ago", "took", "work");
            foreach (var run in runs)
                table.AddRow(run.Runner, run.FinishedAt.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    run.Age.TotalSeconds.ToString("N0", CultureInfo.InvariantCulture) + " s",
                    run.Duration.TotalMilliseconds.ToString("N0", CultureInfo.InvariantCulture) + " ms", run.Work == 0 ? "idle" : run.Work.ToString("N0", CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return TallyCli.Success;
        });
        return command;
    }
}
