// pgjdbc against a server at 127.0.0.1:PGPORT (PGUSER, PGDATABASE): DatabaseMetaData as IDEs and
// Hibernate read it, server-side prepared statements past prepareThreshold with binary
// transfer, batches (rewritten into multi-row INSERTs), generated keys, savepoints, types.
// Every check asserts what PostgreSQL 15 returns, so it passes against PostgreSQL too.
//   java -cp /usr/share/java/postgresql.jar Smoke.java [GROUP]     run by scripts/orm-smoke.sh
//   (Debian's default-jdk-headless and libpostgresql-jdbc-java, pgjdbc 42.5)
import java.math.BigDecimal;
import java.sql.*;
import java.time.*;
import java.util.*;

public class Smoke {
    static final List<String> failed = new ArrayList<>();

    interface Body { void run(Connection c) throws Exception; }

    static void check(boolean ok, String what) {
        if (!ok) throw new AssertionError(what);
    }

    static void eq(Object expected, Object actual, String what) {
        if (!Objects.equals(expected, actual))
            throw new AssertionError(what + ": expected <" + expected + "> got <" + actual + ">");
    }

    static Connection connect(String extra) throws SQLException {
        String url = "jdbc:postgresql://127.0.0.1:" + System.getenv("PGPORT") + "/"
            + Optional.ofNullable(System.getenv("PGDATABASE")).orElse("oxibase") + extra;
        return DriverManager.getConnection(url,
            Optional.ofNullable(System.getenv("PGUSER")).orElse("oxibase"), "");
    }

    static void group(String name, String only, String extra, Body body) {
        if (only != null && !only.equals(name)) return;
        try (Connection c = connect(extra)) {
            body.run(c);
            System.out.println("ok   " + name);
        } catch (Throwable e) {
            System.out.println("FAIL " + name + ": " + e);
            for (StackTraceElement s : e.getStackTrace()) {
                if (s.getClassName().startsWith("Smoke")) System.out.println("  at " + s);
            }
            failed.add(name);
        }
    }

    static List<String> column(ResultSet rs, String label) throws SQLException {
        List<String> out = new ArrayList<>();
        while (rs.next()) out.add(rs.getString(label));
        rs.close();
        return out;
    }

    public static void main(String[] args) throws Exception {
        String only = args.length > 0 ? args[0] : null;
        group("schema", only, "", c -> {
            try (Statement s = c.createStatement()) {
                s.execute("drop table if exists j_line");
                s.execute("drop table if exists j_order");
                s.execute("create table j_order (id bigserial primary key, customer varchar(40) not null, "
                    + "total numeric(10,2) default 0, placed timestamptz default now(), note text)");
                s.execute("create table j_line (order_id bigint references j_order(id) on delete cascade, "
                    + "n int, sku text, qty int check (qty > 0), primary key (order_id, n))");
                s.execute("create unique index j_order_customer on j_order (customer)");
                s.execute("comment on table j_order is 'orders'");
            }
        });
        group("metadata", only, "", c -> {
            DatabaseMetaData md = c.getMetaData();
            check(md.getDatabaseProductName().equals("PostgreSQL"), "product " + md.getDatabaseProductName());
            eq(List.of("j_line", "j_order"), column(md.getTables(null, "public", "j_%", new String[] {"TABLE"}), "TABLE_NAME"), "tables");
            ResultSet t = md.getTables(null, "public", "j_order", null);
            check(t.next(), "j_order listed");
            eq("orders", t.getString("REMARKS"), "table comment");
            t.close();
            eq(List.of("id", "customer", "total", "placed", "note"), column(md.getColumns(null, "public", "j_order", null), "COLUMN_NAME"), "columns");
            ResultSet cols = md.getColumns(null, "public", "j_order", "%");
            Map<String, String> types = new LinkedHashMap<>();
            Map<String, Integer> sizes = new HashMap<>();
            Map<String, String> nullable = new HashMap<>();
            Map<String, String> auto = new HashMap<>();
            while (cols.next()) {
                String n = cols.getString("COLUMN_NAME");
                types.put(n, cols.getString("TYPE_NAME") + "/" + cols.getInt("DATA_TYPE"));
                sizes.put(n, cols.getInt("COLUMN_SIZE"));
                nullable.put(n, cols.getString("IS_NULLABLE"));
                auto.put(n, cols.getString("IS_AUTOINCREMENT"));
            }
            eq("{id=bigserial/-5, customer=varchar/12, total=numeric/2, placed=timestamptz/93, note=text/12}", types.toString(), "column types");
            eq(40, sizes.get("customer"), "varchar size");
            eq(10, sizes.get("total"), "numeric precision");
            eq("NO", nullable.get("customer"), "not null");
            eq("YES", auto.get("id"), "serial is autoincrement");
            eq(List.of("order_id", "n"), column(md.getPrimaryKeys(null, "public", "j_line"), "COLUMN_NAME"), "primary key");
            ResultSet fk = md.getImportedKeys(null, "public", "j_line");
            check(fk.next(), "foreign key");
            eq("j_order", fk.getString("PKTABLE_NAME"), "fk target");
            eq("id", fk.getString("PKCOLUMN_NAME"), "fk column");
            eq((short) DatabaseMetaData.importedKeyCascade, fk.getShort("DELETE_RULE"), "on delete");
            fk.close();
            eq(List.of("j_line"), column(md.getExportedKeys(null, "public", "j_order"), "FKTABLE_NAME"), "exported keys");
            List<String> idx = column(md.getIndexInfo(null, "public", "j_order", true, false), "INDEX_NAME");
            check(idx.contains("j_order_customer") && idx.contains("j_order_pkey"), "unique indexes " + idx);
            check(column(md.getSchemas(), "TABLE_SCHEM").contains("public"), "schemas");
            check(column(md.getTypeInfo(), "TYPE_NAME").contains("int4"), "type info");
        });
        group("prepared", only, "", c -> {
            try (PreparedStatement ins = c.prepareStatement(
                    "insert into j_order (customer, total, note) values (?, ?, ?)", Statement.RETURN_GENERATED_KEYS)) {
                for (int i = 0; i < 8; i++) { // past prepareThreshold (5): named statements, binary results
                    ins.setString(1, "c" + i);
                    ins.setBigDecimal(2, new BigDecimal("1.50").multiply(BigDecimal.valueOf(i)));
                    ins.setString(3, i % 2 == 0 ? null : "odd");
                    eq(1, ins.executeUpdate(), "insert count");
                    ResultSet k = ins.getGeneratedKeys();
                    check(k.next(), "generated key");
                    eq((long) i + 1, k.getLong("id"), "generated id");
                }
            }
            try (PreparedStatement q = c.prepareStatement("select id, customer, total, placed, note from j_order where id = ?")) {
                for (int i = 1; i <= 8; i++) {
                    q.setLong(1, i);
                    ResultSet r = q.executeQuery();
                    check(r.next(), "row " + i);
                    eq("c" + (i - 1), r.getString(2), "customer");
                    eq(new BigDecimal("1.50").multiply(BigDecimal.valueOf(i - 1)).setScale(2), r.getBigDecimal(3), "total");
                    check(r.getObject(4, OffsetDateTime.class).getYear() >= 2024, "placed");
                    eq(i % 2 == 0 ? "odd" : null, r.getString(5), "note");
                }
            }
        });
        group("batch", only, "?reWriteBatchedInserts=true", c -> {
            c.setAutoCommit(false);
            try (PreparedStatement b = c.prepareStatement("insert into j_line (order_id, n, sku, qty) values (?, ?, ?, ?)")) {
                for (int n = 1; n <= 250; n++) {
                    b.setLong(1, 1 + n % 3);
                    b.setInt(2, n);
                    b.setString(3, "sku-" + n);
                    b.setInt(4, n);
                    b.addBatch();
                }
                int total = Arrays.stream(b.executeBatch()).map(x -> x == Statement.SUCCESS_NO_INFO ? 1 : x).sum();
                eq(250, total, "batch rows");
            }
            c.commit();
            try (Statement s = c.createStatement()) {
                ResultSet r = s.executeQuery("select count(*), sum(qty) from j_line");
                r.next();
                eq(250L, r.getLong(1), "lines");
                eq(31375L, r.getLong(2), "quantity");
                try {
                    s.executeUpdate("insert into j_line values (1, 1000, 'x', 0)");
                    throw new AssertionError("check violated");
                } catch (SQLException e) {
                    eq("23514", e.getSQLState(), "check sqlstate");
                }
                c.rollback();
                Savepoint sp = c.setSavepoint();
                s.executeUpdate("delete from j_line where order_id = 1");
                c.rollback(sp);
                s.executeUpdate("update j_order set note = 'kept' where id = 1");
                c.commit();
                r = s.executeQuery("select (select count(*) from j_line where order_id = 1), note from j_order where id = 1");
                r.next();
                eq(83L, r.getLong(1), "rolled back to savepoint");
                eq("kept", r.getString(2), "committed after savepoint");
            }
            c.setAutoCommit(true);
        });
        group("types", only, "", c -> {
            try (PreparedStatement p = c.prepareStatement(
                    "select ?::int4[] as a, ?::uuid as u, ?::date as d, ?::bytea as b, ?::jsonb as j, ?::timestamp as ts, ?::boolean as f")) {
                UUID u = UUID.fromString("6f1c2b1e-8a4e-4f6e-9a1e-1b2c3d4e5f60");
                for (int i = 0; i < 6; i++) {
                    p.setArray(1, c.createArrayOf("int4", new Integer[] {1, 2, 3}));
                    p.setObject(2, u);
                    p.setObject(3, LocalDate.of(2020, 2, 29));
                    p.setBytes(4, new byte[] {0, 1, (byte) 255});
                    p.setString(5, "{\"k\": [1, 2]}");
                    p.setObject(6, LocalDateTime.of(2021, 3, 4, 5, 6, 7, 123456000));
                    p.setBoolean(7, true);
                    ResultSet r = p.executeQuery();
                    check(r.next(), "row");
                    eq(List.of(1, 2, 3), Arrays.asList((Integer[]) r.getArray("a").getArray()), "array");
                    eq(u, r.getObject("u", UUID.class), "uuid");
                    eq(LocalDate.of(2020, 2, 29), r.getObject("d", LocalDate.class), "date");
                    eq("[0, 1, -1]", Arrays.toString(r.getBytes("b")), "bytea");
                    eq("{\"k\": [1, 2]}", r.getString("j"), "jsonb");
                    eq(LocalDateTime.of(2021, 3, 4, 5, 6, 7, 123456000), r.getObject("ts", LocalDateTime.class), "timestamp");
                    check(r.getBoolean("f"), "boolean");
                }
            }
        });
        System.out.println("FAILED: " + failed);
        System.exit(failed.isEmpty() ? 0 : 1);
    }
}
