namespace Tally.Postgres;

/// <summary>An applied migration's script differs from the one this build carries: start-up stops.</summary>
internal sealed class MigrationChangedException(string version, string applied, string current) : Exception(
    $"Migration {version} was changed after it was applied to this database (checksum {applied[..12]}… applied, {current[..12]}… now). " +
    "Applied migrations must not change: restore the script and add a new numbered migration for the change.")
{
    public string Version { get; } = version;
}
