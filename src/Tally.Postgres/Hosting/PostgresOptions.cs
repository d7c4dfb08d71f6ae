using Microsoft.Extensions.Options;

namespace Tally.Postgres.Hosting;

/// <summary>Where PostgreSQL is. Section <c>Tally:Postgres</c>.</summary>
public sealed class PostgresOptions
{
    public const string Section = "Tally:Postgres";

    /// <summary>ADO.NET invariant name the Orleans providers use to find Npgsql.</summary>
    public const string AdoNetInvariant = "Npgsql";

    /// <summary>The connection string as configured, for the Orleans ADO.NET providers, which are set up
    /// before options are resolved; validation still happens through <see cref="PostgresOptions"/>.</summary>
    public static string ConnectionStringFrom(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        configuration[$"{Section}:ConnectionString"] ?? "";

    /// <summary>Npgsql connection string. Required.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>A streaming replica for reads that may lag (usage, ended goal instances, snapshots of closed periods).
    /// Empty: the primary serves them. When the replica does not answer, they go to the primary.</summary>
    public string? ReadConnectionString { get; set; }

    /// <summary>Apply pending migrations at start-up (one runner cluster-wide, under an advisory lock).</summary>
    public bool MigrateOnStart { get; set; } = true;

    /// <summary>Event-log partitions created ahead of the current month (at start-up, when a tenant is stored, by maintenance).
    /// Behind it, every tenant's whole raw retention range is created.</summary>
    public int PartitionsAheadMonths { get; set; } = 6;
}

internal sealed class PostgresOptionsValidator : IValidateOptions<PostgresOptions>
{
    public ValidateOptionsResult Validate(string? name, PostgresOptions o)
    {
        if (string.IsNullOrWhiteSpace(o.ConnectionString))
            return ValidateOptionsResult.Fail($"{PostgresOptions.Section}:ConnectionString is required (e.g. Host=127.0.0.1;Port=55432;Username=tally;Database=tally).");
        if (o.PartitionsAheadMonths is < 0 or > 36)
            return ValidateOptionsResult.Fail($"{PostgresOptions.Section}:PartitionsAheadMonths must be 0-36, was {o.PartitionsAheadMonths}.");
        return ValidateOptionsResult.Success;
    }
}
