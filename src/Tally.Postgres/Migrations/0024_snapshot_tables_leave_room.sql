-- Every snapshot run rewrites the rows of the boards and users that changed, in place by their keys: a board's
-- rows shift when anyone enters its top N. With full pages each such update wrote its new row version on another
-- page and a new entry in the primary key; with room left on the page it stays there and the index is not touched
-- (a HOT update), and later page visits reclaim the old versions. Measured on 1,000,000 snapshot rows, all shifted
-- by one rank: 9.6-12.9 s with full pages, 5.0-5.1 s at fillfactor 50; 120,000 user summaries: 1.0-1.2 s and
-- 0.53 s (decision 027). Pages written from now on leave the room; existing pages get it when rewritten (VACUUM FULL).
ALTER TABLE leaderboard_snapshots SET (fillfactor = 50);
ALTER TABLE user_stats_summary SET (fillfactor = 50);
