namespace Tally.Grains;

/// <summary>Names of the Orleans providers Tally registers.</summary>
public static class TallyStorage
{
    /// <summary>Grain storage provider for user state (ADO.NET on PostgreSQL in production).</summary>
    public const string Name = "tally";
}
