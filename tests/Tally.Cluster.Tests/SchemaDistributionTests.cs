using Shouldly;
using Tally.Testing;
using Xunit;

namespace Tally.Cluster.Tests;

/// <summary>
/// The schema stays ready to be distributed by tenant (decision 041: Citus's <c>create_distributed_table</c> on
/// <c>tenant_id</c>, co-located tables): every primary key and unique index of a table that holds tenant rows leads
/// with <c>tenant_id</c>, and the tables that do not are the ones the record lists as reference or coordinator tables.
/// A new migration that breaks this fails here, not on the day someone distributes the log.
/// </summary>
public class SchemaDistributionTests : IAsyncLifetime
{
    private TestDatabase _db = null!;

    public async Task InitializeAsync() => _db = await TestDatabase.CreateAsync("schema");

    public async Task DisposeAsync() => await _db.DisposeAsync();

    /// <summary>Tables kept whole on every node or on the coordinator, as decision 041 lists them.</summary>
    private static readonly string[] NotByTenant =
    [
        "api_keys", // found by key hash before the tenant is known: a reference table
        "orleansmembershiptable", "orleansmembershipversiontable", "orleansquery", "orleansreminderstable", "orleansstorage",
        "schema_migrations",
        "tally_jobs", // the cluster's job ledger
    ];

    [Fact]
    public async Task every_unique_key_of_a_tenant_table_leads_with_tenant_id()
    {
        var keys = new List<(string Table, string Index, string FirstColumn)>();
        await using (var cmd = _db.DataSource.CreateCommand("""
            SELECT c.relname, i.relname, COALESCE(a.attname, '(an expression)')
              FROM pg_index x
              JOIN pg_class i ON i.oid = x.indexrelid
              JOIN pg_class c ON c.oid = x.indrelid
              LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
             WHERE c.relnamespace = 'public'::regnamespace AND (x.indisunique OR x.indisprimary)
               AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            """))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) keys.Add((reader.GetString(0), reader.GetString(1), reader.GetString(2)));

        keys.Count.ShouldBeGreaterThan(20, "the migrated schema's keys were read");
        var notLeading = keys.Where(k => k.FirstColumn != "tenant_id").Select(k => k.Table).Distinct().Order(StringComparer.Ordinal).ToList();
        notLeading.ShouldBe(NotByTenant.Order(StringComparer.Ordinal).ToList(), "tables whose unique keys do not lead with tenant_id");
    }

    [Fact]
    public async Task every_table_but_the_listed_ones_has_a_tenant_id_and_no_foreign_key_crosses_tenants()
    {
        var withoutTenant = new List<string>();
        await using (var cmd = _db.DataSource.CreateCommand("""
            SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
               AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
             ORDER BY 1
            """))
        await using (var reader = await cmd.ExecuteReaderAsync())
            while (await reader.ReadAsync()) withoutTenant.Add(reader.GetString(0));
        withoutTenant.ShouldBeSubsetOf(NotByTenant);

        // Foreign keys: Citus accepts one from a distributed table only with the distribution column, or to a reference table.
        var foreign = await _db.ScalarAsync<string>("""
            SELECT COALESCE(string_agg(conrelid::regclass || ' -> ' || confrelid::regclass, ', ' ORDER BY conrelid::regclass::text), '')
              FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace
            """);
        foreign.ShouldBe("api_keys -> tenants, orleansmembershiptable -> orleansmembershipversiontable",
            "both join tables kept whole: tenants is a reference table too (one row a tenant), so api_keys may point at it");
    }
}
