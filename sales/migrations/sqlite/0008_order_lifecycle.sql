-- Orders have a lifecycle (sales.Orders.Update, Refund, Cancel): what was
-- paid back, and a status from a fixed set, "placed" by default.
ALTER TABLE crm_orders ADD COLUMN refunded INTEGER NOT NULL DEFAULT 0;
UPDATE crm_orders SET status = 'placed' WHERE status = '';
