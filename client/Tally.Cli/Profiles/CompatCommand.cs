using System.CommandLine;
using Npgsql;
using Spectre.Console;
using Tally.Postgres.Compat;
using Tally.Postgres.Tenants;

namespace Tally.Cli.Profiles;

/// <summary>
/// <c>tally compat --tenant T --schema S</c>: the climate seed's tables as views over tenant T's data, in schema S
/// (columns in docs/profiles.md). Rerun it after changing the flagged measure; the views need nothing else to stay current.
/// </summary>
internal static class CompatCommand
{
    public static Command Build()
    {
        var tenant = new Option<string>("--tenant") { Description = "The tenant whose data the views show.", Required = true };
        var schema = new Option<string>("--schema") { Description = "The schema to create the views in (created if missing; not 'public').", Required = true };
        schema.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string>() is { } name && CompatibilityViews.SchemaError(name) is { } error) result.AddError(error);
        });
        var measure = new Option<string?>("--measure") { Description = "The measure shown as co2_saved_kg (default: the tenant's first leaderboard measure, else its first measure)." };
        var grant = new Option<string?>("--grant") { Description = "A database role to give read access to the views (USAGE on the schema, SELECT on the views)." };
        var command = new Command("compat", "Create the seed's production, previous and legacy tables as views over a tenant's data.") { tenant, schema, measure, grant };
        command.SetAction((parse, ct) => RunAsync(new CliContext(parse), parse.GetValue(tenant)!, parse.GetValue(schema)!, parse.GetValue(measure), parse.GetValue(grant), ct));
        return command;
    }

    public static async Task<int> RunAsync(CliContext context, string tenant, string schema, string? measure, string? grant, CancellationToken ct)
    {
        await using var db = NpgsqlDataSource.Create(context.Postgres);
        var stored = await new TenantStore(db).GetAsync(tenant, ct) ?? throw new CliException($"tenant '{tenant}' does not exist.");
        var config = TenantConfigCache.TryParseStored(stored.ConfigJson) ?? throw new CliException($"tenant '{tenant}' has a config this tool cannot read.");
        var measures = config.Measures.Keys.ToArray();
        measure ??= config.Leaderboards?.Measures.FirstOrDefault() ?? measures.FirstOrDefault()
            ?? throw new CliException($"tenant '{tenant}' declares no measure.");
        if (!measures.Contains(measure))
            throw new CliException($"--measure {measure}: tenant '{tenant}' declares no such measure (its measures: {string.Join(", ", measures)}).");
        // Actions already in the log get their integer ids now; the snapshot job numbers new ones as they arrive.
        var numbered = await new ActionIds(db).NumberTenantAsync(tenant, ct);
        var views = await CompatibilityViews.CreateAsync(db, tenant, config, schema, measure, grant, ct);
        var table = new Table().AddColumns("view", "over");
        foreach (var (view, of) in CompatibilityViews.Names) table.AddRow($"{schema}.{view}", view == of ? "Tally's own table of that name" : $"{schema}.{of}");
        table.AddRow($"{schema}.actions", $"tenant_actions (the integer action ids; {numbered} new)");
        table.AddRow($"{schema}.user_daily_stats", "user_daily_stats (a column per measure, daily_<ratio> per ratio)");
        if (views.Contains("loyalty_members")) table.AddRow($"{schema}.loyalty_members", "user_state (each member's tier and window as last saved)");
        AnsiConsole.Write(table);
        Console.WriteLine($"{views.Count} views for tenant {tenant}, with {measure} as co2_saved_kg. An application reads them with: SET search_path = {schema};");
        return TallyCli.Success;
    }
}
