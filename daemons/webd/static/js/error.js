import "/static/js/common.js";
