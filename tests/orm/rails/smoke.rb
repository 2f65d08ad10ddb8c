# ActiveRecord (Rails' ORM) against a server at 127.0.0.1:PGPORT (PGUSER, PGDATABASE): migrations
# and schema dump, associations, validations, transactions, upsert_all, enums, JSON and arrays.
# Every check asserts what PostgreSQL 15 returns, so the script passes against it too.
#   ruby smoke.rb      run by scripts/orm-smoke.sh; needs Debian's ruby-activerecord and ruby-pg
require "active_record"
require "minitest"

ActiveRecord::Base.establish_connection(
  adapter: "postgresql", host: "127.0.0.1", port: Integer(ENV.fetch("PGPORT")),
  username: ENV.fetch("PGUSER", "oxibase"), database: ENV.fetch("PGDATABASE", "oxibase"))
ActiveRecord::Migration.verbose = false
$failed = []

def group(name)
  yield
  puts "ok   #{name}"
rescue Exception => e
  puts "FAIL #{name}: #{e.class}: #{e.message}\n  #{e.backtrace.first(6).join("\n  ")}"
  $failed << name
end

class Author < ActiveRecord::Base
  has_many :books, dependent: :destroy
  validates :name, presence: true
end

class Book < ActiveRecord::Base
  belongs_to :author
  enum status: { draft: 0, published: 1 }
end

include Minitest::Assertions
def assertions; @assertions ||= 0; end
def assertions=(n); @assertions = n; end

group("migrations") do
  c = ActiveRecord::Base.connection
  %w[books authors].each { |t| c.drop_table(t, if_exists: true) }
  ActiveRecord::Schema.define do
    create_table :authors do |t|
      t.string :name, null: false
      t.string :email, limit: 120
      t.jsonb :prefs, default: {}
      t.string :tags, array: true, default: []
      t.decimal :rating, precision: 4, scale: 2
      t.timestamps
    end
    add_index :authors, :email, unique: true
    create_table :books do |t|
      t.references :author, foreign_key: true
      t.string :title
      t.integer :status, default: 0, null: false
      t.date :published_on
      t.uuid :ref
      t.timestamps
    end
    add_column :books, :pages, :integer
    rename_column :books, :pages, :page_count
    change_column_default :books, :page_count, from: nil, to: 1
    add_index :books, [:author_id, :title]
  end
  assert c.table_exists?(:books)
  assert_equal %w[id author_id title status published_on ref created_at updated_at page_count], c.columns(:books).map(&:name)
  assert_equal :jsonb, c.columns(:authors).find { |col| col.name == "prefs" }.type
  assert c.columns(:authors).find { |col| col.name == "tags" }.array
  assert_equal 1, c.columns(:books).find { |col| col.name == "page_count" }.default.to_i
  assert c.index_exists?(:authors, :email, unique: true)
  assert_equal ["authors"], c.foreign_keys(:books).map(&:to_table)
  assert_equal "id", c.primary_key(:books)
  io = StringIO.new
  ActiveRecord::SchemaDumper.dump(c, io)
  dump = io.string
  assert_includes dump, 'create_table "books"'
  assert_includes dump, 'add_foreign_key "books", "authors"'
  assert_includes dump, 't.string "tags", default: [], array: true'
end

group("models") do
  Author.reset_column_information; Book.reset_column_information
  a = Author.create!(name: "Ann", email: "ann@x", prefs: { "dark" => true }, tags: %w[a b], rating: "4.25")
  assert_raises(ActiveRecord::RecordInvalid) { Author.create!(name: "") }
  assert_raises(ActiveRecord::RecordNotUnique) { Author.create!(name: "B", email: "ann@x") }
  b = a.books.create!(title: "T1", published_on: Date.new(2020, 1, 2), ref: "6f1c2b1e-8a4e-4f6e-9a1e-1b2c3d4e5f60")
  a.books.create!(title: "T2", status: :published)
  assert_equal 1, b.page_count
  a.reload
  assert_equal({ "dark" => true }, a.prefs)
  assert_equal %w[a b], a.tags
  assert_equal BigDecimal("4.25"), a.rating
  assert_equal 2, a.books.count
  assert_equal ["T2"], Book.published.pluck(:title)
  assert_equal Date.new(2020, 1, 2), Book.find(b.id).published_on
  assert_equal({ "Ann" => 2 }, Book.joins(:author).group("authors.name").count)
  assert_equal 1, Author.where("tags @> ARRAY[?]::varchar[]", "a").count
  assert_equal 1, Author.where("prefs ->> 'dark' = 'true'").count
  Author.transaction do
    a.update!(name: "Anna")
    raise ActiveRecord::Rollback
  end
  assert_equal "Ann", a.reload.name
  Book.upsert_all([{ id: b.id, title: "T1b", author_id: a.id, status: 0, created_at: Time.now, updated_at: Time.now }], unique_by: :id)
  assert_equal "T1b", b.reload.title
  assert_equal 2, Book.where(author: a).order(:title).limit(5).to_a.size
  Book.find_each(batch_size: 1) { |bk| assert bk.title }
  Author.lock.find(a.id)
  a.destroy
  assert_equal 0, Book.count
end

exit(1) unless $failed.empty?
puts "FAILED: []"
